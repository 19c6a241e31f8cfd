"""The WhatsApp channel (Business Cloud API): the citizen conversation on WhatsApp."""
