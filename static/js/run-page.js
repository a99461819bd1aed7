// The run page: its full completion summary, from the data the server embedded with json_script.
RunView.render(document.getElementById("completion"), JSON.parse(document.getElementById("run-detail").textContent), { full: true });
