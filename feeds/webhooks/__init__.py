"""Webhook delivery: Standard Webhooks signing, message bodies and the retry policy."""
