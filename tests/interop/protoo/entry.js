// The test pages use protoo-client and mediasoup-client as globals, as mediasoup-demo's app
// imports them.
import * as mediasoupClient from 'mediasoup-client';
import * as protooClient from 'protoo-client';
window.mediasoupClient = mediasoupClient;
window.protooClient = protooClient;
