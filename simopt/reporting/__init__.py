"""Everything simopt hands on to people: tables cleaned once, texts from one catalogue in
Vietnamese or English, the Excel workbook, charts and the HTML report."""
