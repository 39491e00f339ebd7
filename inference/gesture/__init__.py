"""Co-speech gesture: the gesture timeline, beat guidance and the activity envelope."""
