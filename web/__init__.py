"""The aiohttp side: public pages, verification, open data, browser chat, staff area."""
