// The registration page's "Print the start sheet": the browser's print dialog, where start_sheet.css keeps only the
// sheet. Without scripts the link still leads to the sheet, printed with the browser's own Print.
document.getElementById("print-sheet")?.addEventListener("click", (event) => {
  event.preventDefault();
  window.print();
});
