"""``sailctl``: a thin command-line front end over the library and the control-plane API.

In: command-line arguments and YAML files. Out: human-readable tables and messages (or JSON/YAML
with ``-o``) and exit codes; no business logic lives here.
"""
