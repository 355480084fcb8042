// The page's handle on mediasoup-client 2.x, unmodified from npm.
import * as mediasoupClient from 'mediasoup-client';

window.mediasoupClient = mediasoupClient;
