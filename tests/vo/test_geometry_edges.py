"""Edge rules of the ADQL geometry on SQLite (vo/geometry over webbarchive.sphere):
shapes are closed, as pgsphere's are."""

from webbarchive.vo.geometry import Polygon, contains, intersects

LEFT = Polygon(((10.0, 0.0), (11.0, 0.0), (11.0, 1.0), (10.0, 1.0)))
# Shares LEFT's east edge only partly and overlaps no area: they touch.
RIGHT = Polygon(((11.0, 0.2), (12.0, 0.2), (12.0, 0.8), (11.0, 0.8)))
# A diamond whose one vertex touches LEFT's top edge from above.
ABOVE = Polygon(((10.5, 1.0), (10.8, 1.3), (10.5, 1.6), (10.2, 1.3)))
APART = Polygon(((13.0, 0.0), (14.0, 0.0), (14.0, 1.0), (13.0, 1.0)))
# Inside LEFT, sharing its south edge.
INNER = Polygon(((10.2, 0.0), (10.8, 0.0), (10.8, 0.5), (10.2, 0.5)))


def test_polygons_that_share_an_edge_intersect():
    assert intersects(LEFT, RIGHT) and intersects(RIGHT, LEFT)


def test_polygons_that_touch_at_a_vertex_intersect():
    assert intersects(LEFT, ABOVE) and intersects(ABOVE, LEFT)


def test_polygons_apart_do_not_intersect():
    assert not intersects(LEFT, APART)


def test_a_polygon_sharing_an_edge_with_its_container_is_contained():
    assert contains(INNER, LEFT)
    assert not contains(RIGHT, LEFT)
