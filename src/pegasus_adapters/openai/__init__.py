"""OpenAI-compatible engines."""
