"""Sample applications that run inside a sailmesh mesh (for example ``bookinfo``)."""
