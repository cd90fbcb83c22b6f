// The results table, enhanced: a preview that does not load (none written,
// or not readable) becomes the words "no preview" instead of a broken image.
for (const img of document.querySelectorAll("#results td.thumb img")) {
  const none = () => img.replaceWith(Object.assign(document.createElement("span"), { className: "none", textContent: "no preview" }));
  if (img.complete && img.naturalWidth === 0) none();
  else img.addEventListener("error", none, { once: true });
}
