"""textpilot: self-hosted SMS/MMS marketing for online stores."""
