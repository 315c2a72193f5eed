"""Calendar sources, read by the agent alone: .ics files (`ics`), CalDAV servers (`caldav`),
published feeds (`feeds`); what they add up to (`sources`), noticing changes (`watch`), and
writing agreed meetings back (`writer`)."""
