// The sky view of the search page: the footprints of the rows of the results
// table (data-footprint, [[ra, dec], ...] in degrees) drawn with Aladin Lite v3
// over the survey of data-survey, or, when it is empty (offline), over the
// archive's own mosaics that the person may read (/portal/sky/mosaics: each a
// PNG with its WCS, an Aladin image layer) and a coordinate grid. Hovering a
// footprint highlights its row; hovering or focusing a row highlights its
// footprint. Exposed as window.webbSky for the tests.
// Aladin Lite (2.4 MB with its WebAssembly) is imported once the page is shown:
// the table never waits for it.

const holder = document.getElementById("sky");
const rows = [...document.querySelectorAll("#results tbody tr[data-footprint]")];
const LAYER_TIMEOUT_MS = 30000;
const COLOURS = { public: "#00b3ff", eap: "#ff8c1a", hover: "#ffe600" };

function unitVector([ra, dec]) {
  const r = (ra * Math.PI) / 180, d = (dec * Math.PI) / 180;
  return [Math.cos(d) * Math.cos(r), Math.cos(d) * Math.sin(r), Math.sin(d)];
}

function separationDeg(a, b) {
  const [x, y] = [unitVector(a), unitVector(b)];
  const dot = Math.min(1, Math.max(-1, x[0] * y[0] + x[1] * y[1] + x[2] * y[2]));
  return (Math.acos(dot) * 180) / Math.PI;
}

// Centre and field of view (deg) that hold every vertex: the normalised mean
// of the unit vectors (right across RA 0/360), and twice the farthest vertex.
function view(footprints) {
  const sum = [0, 0, 0];
  for (const vertex of footprints.flat()) unitVector(vertex).forEach((v, i) => (sum[i] += v));
  const norm = Math.hypot(...sum) || 1;
  const centre = [
    ((Math.atan2(sum[1], sum[0]) * 180) / Math.PI + 360) % 360,
    (Math.asin(sum[2] / norm) * 180) / Math.PI,
  ];
  const far = Math.max(...footprints.flat().map((v) => separationDeg(centre, v)));
  // fov is the width; the map is wider than tall, so the height sets it
  const aspect = Math.max(1, holder.clientWidth / Math.max(1, holder.clientHeight));
  return { centre, fov: Math.min(180, Math.max(0.02, 2.2 * far * aspect)) };
}

function setHighlight(row, on) {
  row.classList.toggle("highlight", on);
}

async function draw() {
  const footprints = rows.map((row) => JSON.parse(row.dataset.footprint));
  if (!footprints.length) {
    holder.textContent = "No footprint to draw on this page.";
    return;
  }
  const { default: A } = await import("/portal/vendor/aladin-lite/aladin.js");
  await A.init;
  const { centre, fov } = view(footprints);
  const survey = holder.dataset.survey;
  if (!survey) holder.dataset.offline = "";
  // Offline (no survey): Aladin's default survey fails to load and leaves a
  // dark sky, over which the coordinate grid is drawn.
  const aladin = A.aladin(holder, {
    ...(survey ? { survey } : {}),
    target: `${centre[0]} ${centre[1]}`,
    fov,
    showCooGrid: !survey,
    showReticle: false,
    showSimbadPointerControl: false,
    showProjectionControl: false,
    showFullscreenControl: false,
    showShareControl: false,
    showContextMenu: false,
  });
  const overlay = A.graphicOverlay({ name: "results", lineWidth: 2 });
  aladin.addOverlay(overlay);
  const byObsId = new Map();
  rows.forEach((row, i) => {
    const colour = row.classList.contains("eap") ? COLOURS.eap : COLOURS.public;
    const polygon = A.polygon(footprints[i], { color: colour, hoverColor: COLOURS.hover, lineWidth: 2 });
    polygon.obsId = row.dataset.obsId;
    overlay.add(polygon);
    byObsId.set(row.dataset.obsId, { row, polygon });
    const on = () => { polygon.hover(); setHighlight(row, true); };
    const off = () => { polygon.unhover(); setHighlight(row, false); };
    row.addEventListener("mouseenter", on);
    row.addEventListener("mouseleave", off);
    row.addEventListener("focusin", on);
    row.addEventListener("focusout", off);
  });
  const rowOf = (shape) => shape && byObsId.get(shape.obsId)?.row;
  aladin.on("objectHovered", (shape) => {
    const row = rowOf(shape);
    if (row) setHighlight(row, true);
  });
  aladin.on("objectHoveredStop", (shape) => {
    const row = rowOf(shape);
    if (row) setHighlight(row, false);
  });
  holder.addEventListener("mouseleave", () => {  // Aladin hears no move off its canvas
    for (const { row, polygon } of byObsId.values()) { polygon.unhover(); setHighlight(row, false); }
  });
  window.webbSky = { aladin, overlay, byObsId, mosaics: [] };
  holder.dataset.drawn = String(overlay.overlayItems.length);
  if (!survey) {
    // the footprints stand without the mosaics: a failure here costs only the layers
    await drawMosaics(A, aladin, centre, fov).catch((error) => {
      holder.dataset.mosaics = "0";
      holder.dataset.mosaicsFailed = String(error);
    });
  }
}

// The mosaics overlapping the view, each an image layer under the footprints
// (Aladin draws image layers below graphic overlays). data-mosaics is set to the
// number of layers drawn once every picture has loaded or failed.
async function drawMosaics(A, aladin, centre, fov) {
  const height = (fov * holder.clientHeight) / Math.max(1, holder.clientWidth);
  const radius = Math.min(10, Math.max(1e-4, Math.hypot(fov, height) / 2));
  const query = new URLSearchParams({ ra: centre[0] % 360, dec: centre[1], radius });
  const answer = await fetch(`/portal/sky/mosaics?${query}`, { credentials: "same-origin" });
  const { layers } = answer.ok ? await answer.json() : { layers: [] };
  const drawn = await Promise.all(
    layers.map(
      (layer) =>
        new Promise((resolve) => {
          const image = A.image(layer.url, {
            name: layer.file,
            imgFormat: "png",
            wcs: { ...layer.wcs },
            successCallback: () => resolve({ ...layer, image }),
            errorCallback: () => resolve(null),
          });
          setTimeout(() => resolve(null), LAYER_TIMEOUT_MS);  // a picture that never loads
          aladin.setOverlayImageLayer(image, `mosaic ${layer.file}`);
        }),
    ),
  );
  window.webbSky.mosaics = drawn.filter(Boolean);
  holder.dataset.mosaics = String(window.webbSky.mosaics.length);
}

if (holder) {
  draw().catch((error) => {
    holder.dataset.failed = String(error);
    holder.textContent = `The sky view could not start (${error}); the table lists the same observations.`;
  });
}
