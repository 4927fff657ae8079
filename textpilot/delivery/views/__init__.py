"""Dashboard pages of delivery: the messages log, the inbox, the simulated phone, senders
and compliance settings. Every page reads and writes the current store only."""
