"""How people and programs talk to 回音: the command line and the HTTP API with its dashboard."""
