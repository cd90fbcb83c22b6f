// Target-name suggestions as you type: fills the search form's <datalist>
// from /portal/api/targets (names of observations this user may see).
const input = document.getElementById("target");
const list = document.getElementById("target-names");
let pending = null;

async function refresh() {
  const prefix = input.value.trim();
  if (!prefix) { list.replaceChildren(); return; }
  const answer = await fetch(`/portal/api/targets?q=${encodeURIComponent(prefix)}`);
  if (!answer.ok) return;
  const { targets } = await answer.json();
  list.replaceChildren(...targets.map((name) => Object.assign(document.createElement("option"), { value: name })));
}

if (input && list) {
  input.addEventListener("input", () => {
    clearTimeout(pending);
    pending = setTimeout(refresh, 200);
  });
}
