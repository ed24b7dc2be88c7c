// The new terminal key's "Copy" button: copies the key shown once, and says so.
(function () {
  "use strict";
  var button = document.getElementById("copy-key");
  var field = document.getElementById("new-key");
  if (!button || !field) { return; }
  button.addEventListener("click", function () {
    field.select();
    var done = function () { button.textContent = button.dataset.copied; };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });
}());
