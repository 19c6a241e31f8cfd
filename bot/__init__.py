"""The Telegram channel: renders the conversation with python-telegram-bot."""
