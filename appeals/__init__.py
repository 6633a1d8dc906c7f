"""The enterprise-appeal domain on the engine's public face (filled in below)."""
