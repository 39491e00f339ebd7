"""Reading a prompt: the sentence encoder, side cues and the prompt matcher."""
