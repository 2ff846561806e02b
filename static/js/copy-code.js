// A "Copy" button on each code block of a post. Without this script nothing is missing but the
// button: the code can still be selected and copied by hand, line numbers left out either way.
(function () {
  "use strict";

  const blocks = document.querySelectorAll(".prose .highlight");
  if (!blocks.length || !navigator.clipboard || !window.isSecureContext) return;

  // One polite live region says what happened, for readers who cannot see the button change.
  const status = document.createElement("p");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  document.body.append(status);

  let reset;
  function say(button, label, message) {
    button.firstChild.data = label;
    status.textContent = message;
    clearTimeout(reset);
    reset = setTimeout(() => {
      button.firstChild.data = "Copy";
      status.textContent = "";
    }, 2000);
  }

  for (const block of blocks) {
    const code = block.querySelector("pre > code");
    if (!code) continue;
    const title = block.querySelector(".filename");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "code-copy";
    button.append("Copy");
    const name = document.createElement("span");
    name.className = "visually-hidden";
    name.textContent = title ? ` code: ${title.textContent.trim()}` : " code";
    button.append(name);
    button.addEventListener("click", async () => {
      // Line numbers are drawn by CSS from an attribute, so the text is the code alone.
      const text = code.textContent.replace(/\n$/, "");
      try {
        await navigator.clipboard.writeText(text);
        say(button, "Copied", "Copied to the clipboard");
      } catch {
        say(button, "Copy", "Could not copy: select the code and copy it instead");
      }
    });
    block.classList.add("has-copy");
    block.prepend(button);
  }
})();
