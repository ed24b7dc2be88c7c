// The new campaign's audience count, asked again as the segment's fields change (the "Count the audience" button
// does the same without scripts): GET /console/messages/campaigns/audience answers the sentence to show.
(function () {
  "use strict";
  var fields = document.getElementById("segment-fields");
  var shown = document.getElementById("audience");
  if (!fields || !shown) { return; }
  var names = ["tier", "segment", "visited_within_days", "last_visit_after", "last_visit_before", "spend_from",
    "spend_to"];
  var timer = null;
  var asked = 0;
  function count() {
    var query = new URLSearchParams();
    names.forEach(function (name) {
      var input = document.getElementById(name);
      if (input && input.value.trim()) { query.set(name, input.value.trim()); }
    });
    var mine = ++asked;
    fetch("/console/messages/campaigns/audience?" + query.toString(), {credentials: "same-origin"})
      .then(function (answer) { return answer.ok ? answer.text() : ""; })
      .then(function (text) { if (mine === asked && text) { shown.innerHTML = text; } })
      .catch(function () { return null; });
  }
  fields.addEventListener("input", function () {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(count, 300);
  });
  count();
}());
