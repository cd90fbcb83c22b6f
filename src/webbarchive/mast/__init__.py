"""astroquery.mast compatibility: the Mashup portal API (``/api/v0/invoke``),
MastMissions for JWST and bundle downloads, translated onto the catalog.

Modules: :mod:`.columns` (what each service returns and lets users filter on),
:mod:`.filters` (Mashup filters and MastMissions conditions -> SQL),
:mod:`.cone` (sky matching), :mod:`.caom` and :mod:`.jwst_keywords` (the
queries), :mod:`.missions` (MastMissions search), :mod:`.render` (replies in
Mashup form), :mod:`.jobs` (EXECUTING long-poll).
"""
