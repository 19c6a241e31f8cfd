"""The main menu's button values, for the menu and the screens that offer its choices."""

from __future__ import annotations

from enum import StrEnum


class MenuChoice(StrEnum):
    """The buttons of the main menu."""

    PROPOSE = "p"
    VOTE = "v"
    MINE = "m"
    CERTIFICATE = "c"
    MY_DATA = "d"
    HELP = "h"
    HAVE_CODE = "y"  # browser participants: type a verification code
    BROWSER_CODE = "b"  # Telegram participants: a code to link a browser
    MENU = "menu"  # the menu again (drawn by certificate_flow.begin)
