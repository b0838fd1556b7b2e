"""Officials' progress reports: the view, the chart, the spreadsheet, the report worker."""
