"""Training code (torch): reproduces every file in weights/. Never imported by the add-on."""
