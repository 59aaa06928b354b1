#!/usr/bin/env node
// A small MQTT.js client for coromq's integration tests.
//
//   node mqttjs_client.js --url ws://127.0.0.1:PORT/mqtt --topic T [--publish PAYLOAD]
//        [--count N] [--qos Q] [--ca FILE] [--cert FILE --key FILE] [--client-id ID]
//        [--protocol-version 4|5] [--timeout MS]
//
// Connects to URL (mqtt://, mqtts://, ws://, wss://), subscribes to --topic, then publishes
// --publish to the same topic when given, and waits for --count messages (default 1; 0 =
// connect, subscribe and publish only). Prints one JSON object per line on stdout as things
// happen, so a test can act on them (for example start a publisher once "subscribed" shows):
//   {"event":"connected"}
//   {"event":"subscribed","granted":[0]}
//   {"event":"message","topic":"T","payload":"...","qos":0,"retain":false}
//   {"event":"done","received":[{...}, ...]}          exit status 0
//   {"event":"error","message":"..."}                 exit status 1
// It never reconnects: a refusal or a dropped connection is an error the test should see.
'use strict';

const fs = require('fs');
const { parseArgs } = require('util');
const mqtt = require('mqtt');

function main() {
    const { values } = parseArgs({
        options: {
            url: { type: 'string' },
            topic: { type: 'string' },
            publish: { type: 'string' },
            count: { type: 'string', default: '1' },
            qos: { type: 'string', default: '0' },
            ca: { type: 'string' },
            cert: { type: 'string' },
            key: { type: 'string' },
            'client-id': { type: 'string' },
            'protocol-version': { type: 'string', default: '4' },
            timeout: { type: 'string', default: '10000' },
        },
    });
    if (!values.url || !values.topic) {
        throw new Error('--url and --topic are required');
    }
    const count = Number(values.count);
    const qos = Number(values.qos);
    const received = [];
    let finished = false;

    const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
    const finish = (code, obj) => {
        if (finished) {
            return;
        }
        finished = true;
        emit(obj);
        clearTimeout(timer);
        // end() sends DISCONNECT; force it if the connection is already gone.
        client.end(code !== 0, () => process.exit(code));
        setTimeout(() => process.exit(code), 1000).unref();
    };

    const options = {
        clientId: values['client-id'] || 'mqttjs-' + Math.random().toString(16).slice(2, 10),
        protocolVersion: Number(values['protocol-version']),
        reconnectPeriod: 0,
        connectTimeout: Number(values.timeout),
        keepalive: 30,
        // A TLS peer must present a certificate chaining to --ca (or the system's CAs).
        rejectUnauthorized: true,
    };
    if (values.ca) {
        options.ca = fs.readFileSync(values.ca);
    }
    if (values.cert) {
        options.cert = fs.readFileSync(values.cert);
    }
    if (values.key) {
        options.key = fs.readFileSync(values.key);
    }

    const timer = setTimeout(
        () =>
            finish(1, {
                event: 'error',
                message: `timed out after ${values.timeout} ms with ${received.length} of ${count} messages`,
                received,
            }),
        Number(values.timeout)
    );
    const client = mqtt.connect(values.url, options);

    client.on('connect', () => {
        emit({ event: 'connected' });
        client.subscribe(values.topic, { qos }, (err, granted) => {
            if (err) {
                finish(1, { event: 'error', message: 'subscribe: ' + err.message });
                return;
            }
            emit({ event: 'subscribed', granted: granted.map((g) => g.qos) });
            const published = () => {
                if (count === 0) {
                    finish(0, { event: 'done', received });
                }
            };
            if (values.publish !== undefined) {
                client.publish(values.topic, values.publish, { qos }, (perr) => {
                    if (perr) {
                        finish(1, { event: 'error', message: 'publish: ' + perr.message });
                    } else {
                        published();
                    }
                });
            } else {
                published();
            }
        });
    });
    client.on('message', (topic, payload, packet) => {
        const m = { topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain };
        received.push(m);
        emit({ event: 'message', ...m });
        if (count > 0 && received.length >= count) {
            finish(0, { event: 'done', received });
        }
    });
    client.on('error', (err) => finish(1, { event: 'error', message: err.message }));
    client.on('close', () => finish(1, { event: 'error', message: 'connection closed', received }));
}

try {
    main();
} catch (err) {
    process.stdout.write(JSON.stringify({ event: 'error', message: String(err.message) }) + '\n');
    process.exit(1);
}
