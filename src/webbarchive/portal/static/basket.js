// The basket, kept in this browser (localStorage): file name -> size in bytes.
// Checkboxes with class "basket" (data-file, data-size) add and remove a
// product; the nav link counts the basket's products. /portal/basket shows the
// server's view of the basket (sizes, rights, the downloads): opened without a
// list, it is reloaded with this browser's list (GET, or POST for a long one).
const KEY = "webbarchive.basket";
const GET_LIMIT = 100; // files; longer lists go by POST (URL length)

export function load() {
  try {
    return JSON.parse(localStorage.getItem(KEY)) || {};
  } catch {
    return {};
  }
}

function save(basket) {
  localStorage.setItem(KEY, JSON.stringify(basket));
  count(basket);
}

function count(basket) {
  const n = Object.keys(basket).length;
  const label = document.getElementById("basket-count");
  if (label) label.textContent = n ? `(${n})` : "";
}

function wire(basket) {
  for (const box of document.querySelectorAll("input.basket")) {
    box.checked = box.dataset.file in basket;
    box.addEventListener("change", () => {
      const now = load();
      if (box.checked) now[box.dataset.file] = Number(box.dataset.size) || 0;
      else delete now[box.dataset.file];
      save(now);
    });
  }
}

function openBasketPage(basket) {
  const files = Object.keys(basket).sort();
  const params = new URLSearchParams(location.search);
  if (location.pathname !== "/portal/basket" || params.has("file") || !files.length) return;
  if (files.length <= GET_LIMIT) {
    location.replace(`/portal/basket?${new URLSearchParams(files.map((f) => ["file", f]))}`);
    return;
  }
  const form = Object.assign(document.createElement("form"), { method: "post", action: "/portal/basket" });
  for (const file of files) form.append(Object.assign(document.createElement("input"), { type: "hidden", name: "file", value: file }));
  document.body.append(form);
  form.submit();
}

function wireBasketPage() {
  const clear = document.getElementById("basket-clear");
  if (!clear) return;
  clear.hidden = false;
  clear.addEventListener("click", () => {
    save({});
    location.replace("/portal/basket");
  });
}

const basket = load();
count(basket);
wire(basket);
openBasketPage(basket);
wireBasketPage();
