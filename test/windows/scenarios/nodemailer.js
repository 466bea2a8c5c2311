// nodemailer code, unchanged but for its transport, sending through the mail client: the
// installed package's oxymail/nodemailer and its own nodemailer dependency, in a Windows node.exe.
// input: { attachment, cases: [{ name, mapi, options, mail }] }; each case's mail gets the attachment.
'use strict';
const path = require('path');
const { scenario, pkg } = require('./common');
const nodemailer = require(require.resolve('nodemailer', { paths: [process.argv[2]] }));
const { mapiTransport } = pkg('dist/nodemailer');

scenario(async (_addon, input) => {
  const outcomes = {};
  for (const c of input.cases) {
    const transporter = nodemailer.createTransport(mapiTransport(c.mapi, c.options));
    const mail = { ...c.mail };
    if (c.withAttachments) {
      mail.attachments = [{ path: input.attachment }, { filename: 'logo.png', content: Buffer.from('89504e470d0a1a0a', 'hex'), cid: 'logo@oxygene' }];
    }
    try {
      const info = await transporter.sendMail(mail);
      outcomes[c.name] = { info };
    } catch (e) {
      outcomes[c.name] = { error: { code: e.code, message: e.message, problems: e.problems } };
    }
    transporter.close();
  }
  return { outcomes, transportName: mapiTransport().name, file: path.basename(input.attachment) };
});
