// The demo page and the test pages use mediasoup-client as a global, as a plain <script> would.
import * as mediasoupClient from 'mediasoup-client';
window.mediasoupClient = mediasoupClient;
