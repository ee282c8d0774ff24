'use strict';
/** `node --require` entry: noble and bleno in this process talk to btvirt (see h4-socket.cjs). */
require('./h4-socket.cjs').install();
