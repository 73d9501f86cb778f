// Guichet portal: progressive enhancement of file inputs. Without this script the
// plain <input type=file multiple> works; with it, files can also be dropped on the
// field's zone or pasted (screenshots), and the chosen files are listed.
(function () {
	"use strict";

	function label(file) {
		var kb = Math.max(1, Math.round(file.size / 1024));
		return file.name + " (" + kb + " Ko)";
	}

	function setup(zone) {
		var input = zone.querySelector("input[type=file]");
		var list = zone.querySelector("[data-picked]");
		if (!input || typeof DataTransfer === "undefined") return;

		function show() {
			if (!list) return;
			list.textContent = "";
			for (var i = 0; i < input.files.length; i++) {
				var li = document.createElement("li");
				li.textContent = label(input.files[i]);
				list.appendChild(li);
			}
		}

		function add(files) {
			var dt = new DataTransfer();
			var i;
			for (i = 0; i < input.files.length; i++) dt.items.add(input.files[i]);
			for (i = 0; i < files.length; i++) {
				var f = files[i];
				if (!f.name || f.name === "image.png") {
					// Pasted screenshots come without a useful name.
					var stamp = new Date().toISOString().replace(/[:.]/g, "-");
					f = new File([f], "capture-" + stamp + "." + ((f.type.split("/")[1]) || "png"), { type: f.type });
				}
				dt.items.add(f);
			}
			input.files = dt.files;
			show();
		}

		input.addEventListener("change", show);
		zone.addEventListener("dragover", function (e) {
			e.preventDefault();
			zone.classList.add("dragging");
		});
		zone.addEventListener("dragleave", function () { zone.classList.remove("dragging"); });
		zone.addEventListener("drop", function (e) {
			e.preventDefault();
			zone.classList.remove("dragging");
			if (e.dataTransfer && e.dataTransfer.files.length) add(e.dataTransfer.files);
		});
		var form = zone.closest("form");
		if (form) {
			form.addEventListener("paste", function (e) {
				var items = (e.clipboardData && e.clipboardData.files) || [];
				if (items.length) {
					e.preventDefault();
					add(items);
				}
			});
		}
	}

	function init() {
		var zones = document.querySelectorAll("[data-dropzone]");
		for (var i = 0; i < zones.length; i++) setup(zones[i]);
		// A form that came back with errors: focus its summary of errors (announced, with a
		// link to each field), or, for a form of one field, the field itself, which is
		// described by its error.
		var errs = document.getElementById("form-errors") || document.querySelector("[aria-invalid=true]");
		if (errs) errs.focus();
	}

	if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
	else init();
})();
