// The observation page's spectrum: flux and its error against wavelength,
// read from the retrieve API (units from its column_metadata), drawn with
// Plotly.js (zoom, pan, hover). The figure says where the data come from.
const figure = document.getElementById("spectrum");

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = Object.assign(document.createElement("script"), { src });
    script.onload = resolve;
    script.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.append(script);
  });
}

function column(data, meta, names) {
  const name = names.find((n) => n in data);
  return name ? { values: data[name], units: (meta[name] || {}).units || "" } : null;
}

async function draw() {
  const target = document.getElementById("spectrum-plot");
  const uri = figure.dataset.uri;
  try {
    const [answer] = await Promise.all([
      fetch(`/spectra/api/v0.1/retrieve?uri=${encodeURIComponent(uri)}`),
      loadScript(figure.dataset.plotly),
    ]);
    const body = await answer.json();
    if (!answer.ok) throw new Error(body.message || `retrieve answered ${answer.status}`);
    const meta = body.column_metadata || {};
    const wave = column(body.data, meta, ["wavelength", "WAVELENGTH"]);
    const flux = column(body.data, meta, ["flux", "FLUX"]);
    const error = column(body.data, meta, ["fluxErr", "flux_error", "FLUX_ERROR", "error"]);
    if (!wave || !flux) throw new Error("the product has no wavelength or flux column");
    const traces = [{ x: wave.values, y: flux.values, name: "flux", mode: "lines", line: { color: "#0b5394", width: 1.5 } }];
    if (error) traces.push({ x: wave.values, y: error.values, name: "error", mode: "lines", line: { color: "#c0392b", width: 1 } });
    target.replaceChildren();
    await window.Plotly.newPlot(target, traces, {
      height: target.clientHeight,
      margin: { l: 70, r: 20, t: 10, b: 50 },
      xaxis: { title: { text: `wavelength (${wave.units})` } },
      yaxis: { title: { text: `flux (${flux.units})` } },
      legend: { orientation: "h", y: 1.08 },
    }, { responsive: true, displaylogo: false });
    figure.dataset.drawn = String(wave.values.length);
  } catch (problem) {
    target.replaceChildren(Object.assign(document.createElement("p"), { className: "error", role: "alert", textContent: `No plot: ${problem.message}` }));
  }
}

if (figure) draw();
