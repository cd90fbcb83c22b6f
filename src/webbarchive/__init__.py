"""webbarchive: a self-hostable JWST data archive.

Ingest turns JWST pipeline products into catalog rows; the API serves them
through the interfaces astronomers already use (MAST viz/spectra, downloads,
astroquery's Mashup, the DJA tools, IVOA services).
"""

__version__ = "0.1.0"
