"""The coordinator: places meetings by asking participant agents, never by reading calendars."""
