// docintake pages: behaviour that needs script lives here (the CSP forbids inline script).
"use strict";
