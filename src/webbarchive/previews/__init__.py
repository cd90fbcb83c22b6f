"""Preview images of products: what ``jpegURL`` points to, and the stretched
views of the portal's product pages.

:mod:`~webbarchive.previews.stretch` maps pixel values to grey levels (linear,
log, sqrt, asinh between two limits); :mod:`~webbarchive.previews.draw` turns a
product file into a picture (images and 2-D spectra as images, cubes collapsed
to a white-light image, 1-D spectra as a plot); :mod:`~webbarchive.previews.store`
keeps the JPEGs beside the catalog, written by ingest and drawn again on demand
when one is missing or older than its product.
"""
