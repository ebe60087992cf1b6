"""Turn uploaded files into text: page images through PP-OCR, born-digital PDF pages
through their text layer. Pure: no database, web or queue imports."""
