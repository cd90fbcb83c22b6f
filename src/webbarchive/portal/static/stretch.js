// The product page's image view: redraws the server-rendered PNG when the
// stretch or a limit changes, without reloading the page, and shows the limits
// the server used (header X-Stretch-Limits). The URL keeps the choice, so it
// can be shared; without JavaScript the form's Draw button does the same.
const form = document.getElementById("stretch-form");
const image = document.getElementById("image");
const limits = document.getElementById("limits");
let current = null;

async function draw() {
  const query = new URLSearchParams(new FormData(form));
  const url = `${form.dataset.image}?${query}`;
  const controller = new AbortController();
  if (current) current.abort();
  current = controller;
  try {
    const answer = await fetch(url, { signal: controller.signal });
    if (!answer.ok) {
      const body = await answer.json().catch(() => ({}));
      throw new Error(body.message || `the server answered ${answer.status}`);
    }
    const blob = await answer.blob();
    const old = image.src;
    image.src = URL.createObjectURL(blob);
    if (old.startsWith("blob:")) URL.revokeObjectURL(old);
    image.alt = image.alt.replace(/with an? \w+ stretch/, `with a ${query.get("stretch")} stretch`);
    const [low, high] = (answer.headers.get("X-Stretch-Limits") || "").split(" ");
    limits.textContent = low ? `limits ${low} to ${high}` : "";
    limits.classList.remove("error");
    image.dataset.stretch = query.get("stretch");
    history.replaceState(null, "", `?${query}`);
  } catch (problem) {
    if (problem.name === "AbortError") return;
    limits.textContent = problem.message;
    limits.classList.add("error");
  }
}

if (form && image) {
  form.addEventListener("change", draw);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    draw();
  });
  draw();
}
