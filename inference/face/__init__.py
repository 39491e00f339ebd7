"""The talking face: the learned lip model and the speech-to-ARKit pipeline."""
