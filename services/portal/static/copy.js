// The copy buttons of a secret shown once: copies the text of the element the button
// names (data-copy) and says so (data-copied). Nothing else runs on any page.
document.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-copy]");
  if (!button || !navigator.clipboard) return;
  var source = document.getElementById(button.getAttribute("data-copy"));
  if (!source) return;
  navigator.clipboard.writeText(source.value || source.textContent).then(function () {
    button.textContent = button.getAttribute("data-copied");
  });
});
