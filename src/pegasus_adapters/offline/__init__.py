"""Offline engines: PyAV decoding, pocketsphinx speech-to-text, extractive generation."""
