/** Event bits a connection accumulates until the layer delivers them to the socket handler. */
export const EV_CONNECT = 1;
export const EV_READABLE = 2;
export const EV_WRITABLE = 4;
export const EV_ERROR = 8;
export const EV_CLOSE = 16;
