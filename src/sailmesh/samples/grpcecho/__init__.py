"""A gRPC streaming echo service and its client, for gRPC traffic through the mesh (grpcio only,
no generated code: messages are raw bytes, the method ``/sailmesh.echo.Echo/Stream``).

``python -m sailmesh.samples.grpcecho serve [--port 7070] [--host 0.0.0.0]`` answers every message of a
bidirectional stream with the same bytes. ``python -m sailmesh.samples.grpcecho stream
--target HOST:PORT --count N`` streams N messages, reads the N echoes and prints
``<sent> <received> <status>``.
"""
