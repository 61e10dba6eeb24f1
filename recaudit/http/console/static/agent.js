// The agent's client: shows what the backend's `indicator` and `actions` say, and sends
// the chosen command to the JSON API. It decides nothing by itself.
"use strict";

(function () {
  const root = document.getElementById("agent");
  if (!root) return;
  const paths = JSON.parse(root.dataset.paths);
  const labels = JSON.parse(root.dataset.labels);
  const MENU = ["pause", "resume", "stop"];
  const REFRESH_MS = 1000;
  const $ = (id) => document.getElementById(id);
  const indicator = $("indicator"), start = $("start"), options = $("options");
  const menu = $("options-menu"), end = $("end"), message = $("message");
  const countdown = $("countdown");
  let deadline = null;
  let busy = false;

  function csrfHeaders() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    const headers = { "Content-Type": "application/json", "Accept": "application/json" };
    if (meta) headers["X-CSRF-Token"] = meta.content;
    return headers;
  }

  function show(element, visible) { element.hidden = !visible; }

  function render(status) {
    const actions = status.actions || [];
    const text = status.indicator;
    const startable = actions.includes("start");
    indicator.textContent = text && !startable ? text : "";
    show(indicator, Boolean(text) && !startable);
    indicator.dataset.state = status.state;
    show(start, startable);
    const items = MENU.filter((c) => actions.includes(c));
    renderMenu(items);
    show(options, items.length > 0);
    if (items.length === 0) closeMenu();
    show(end, actions.includes("end"));
    show($("ended"), status.state === "ended");
    $("mode").textContent = status.mode;
    $("agent-id").textContent = status.agent_id;
    $("state").textContent = status.state;
    deadline = status.pause_deadline ? Date.parse(status.pause_deadline) : null;
    tick();
  }

  function renderMenu(items) {
    const now = Array.from(menu.children).map((li) => li.firstChild.dataset.command);
    if (now.join() === items.join()) return;
    menu.replaceChildren(...items.map((command) => {
      const li = document.createElement("li");
      li.setAttribute("role", "none");
      const item = document.createElement("button");
      item.type = "button";
      item.setAttribute("role", "menuitem");
      item.tabIndex = -1;
      item.dataset.command = command;
      item.textContent = labels[command];
      li.appendChild(item);
      return li;
    }));
  }

  function tick() {
    if (deadline === null) { show(countdown, false); return; }
    const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    const minutes = Math.floor(left / 60), seconds = String(left % 60).padStart(2, "0");
    countdown.textContent = `Recording resumes automatically in ${minutes}:${seconds}`;
    show(countdown, true);
  }

  function say(text) {
    message.textContent = text;
    show(message, Boolean(text));
  }

  async function refresh() {
    if (busy) return;
    try {
      const answer = await fetch(root.dataset.statusUrl, { headers: { Accept: "application/json" } });
      const body = await answer.json();
      if (answer.ok) render(body);
      else if (body.error) say(`${body.error.message} (${body.error.code})`);
    } catch (err) {
      say("The server cannot be reached; retrying.");
    }
  }

  async function send(command) {
    busy = true;
    closeMenu();
    try {
      const answer = await fetch(paths[command], {
        method: "POST", headers: csrfHeaders(),
        body: JSON.stringify({ by: root.dataset.actor }),
      });
      const body = await answer.json();
      if (answer.ok) { say(""); render(body); }
      else {
        const error = body.error || { code: String(answer.status), message: "refused" };
        say(`${labels[command]} was refused: ${error.message} (${error.code})`);
        if (error.call) render(error.call);
      }
    } catch (err) {
      say(`${labels[command]} could not be sent: the server cannot be reached.`);
    } finally {
      busy = false;
    }
  }

  function openMenu() {
    show(menu, true);
    options.setAttribute("aria-expanded", "true");
    const first = menu.querySelector('[role="menuitem"]');
    if (first) first.focus();
  }

  function closeMenu() {
    const wasOpen = !menu.hidden;
    show(menu, false);
    options.setAttribute("aria-expanded", "false");
    if (wasOpen && menu.contains(document.activeElement)) options.focus();
  }

  function moveFocus(step) {
    const items = Array.from(menu.querySelectorAll('[role="menuitem"]'));
    const at = items.indexOf(document.activeElement);
    if (items.length) items[(at + step + items.length) % items.length].focus();
  }

  options.addEventListener("click", () => (menu.hidden ? openMenu() : closeMenu()));
  menu.addEventListener("click", (event) => {
    const item = event.target.closest("[data-command]");
    if (item) send(item.dataset.command);
  });
  menu.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") { event.preventDefault(); moveFocus(1); }
    else if (event.key === "ArrowUp") { event.preventDefault(); moveFocus(-1); }
    else if (event.key === "Escape") { event.preventDefault(); closeMenu(); }
  });
  document.addEventListener("click", (event) => {
    if (!menu.hidden && !event.target.closest(".options")) closeMenu();
  });
  start.addEventListener("click", () => send("start"));
  end.addEventListener("click", () => send("end"));

  refresh();
  setInterval(refresh, REFRESH_MS);
  setInterval(tick, 250);
})();
