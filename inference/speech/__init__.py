"""Listening to speech: audio loading, voice activity, prosody, phones and words."""
