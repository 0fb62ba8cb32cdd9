// The operator console's only script; the pages work without it. It adds the reader's local
// time as a tooltip to each <time> element, and a "Copy" button beside each preformatted block.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("time[datetime]").forEach(function (el) {
    var when = new Date(el.getAttribute("datetime"));
    if (!isNaN(when)) {
      el.title = "Your local time: " + when.toLocaleString();
    }
  });
  if (!navigator.clipboard) {
    return;
  }
  document.querySelectorAll("pre").forEach(function (pre, i) {
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = "Copy";
    button.setAttribute("aria-label", "Copy the text above");
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(pre.textContent).then(function () {
        button.textContent = "Copied";
      });
    });
    pre.insertAdjacentElement("afterend", button);
  });
});
