import { message } from '../mail/templates';

// The mails of the account lifecycle. Values are escaped by `message` in the HTML part.

const days = (seconds: number) => Math.max(1, Math.round(seconds / 86_400));

export const lifecycleMail = {
  confirmEmailChange: (to: string, product: string, url: string, seconds: number) =>
    message(
      to,
      `Confirm your new email for ${product}`,
      [
        `Someone asked to move a ${product} account to this address.`,
        `If it was you, confirm within ${Math.max(1, Math.round(seconds / 3600))} hours. Until then the account keeps its old address. If not, ignore this message: nothing changes.`,
      ],
      { url, label: 'Confirm this address' },
    ),
  emailChangeRequested: (to: string, product: string, newEmail: string) =>
    message(to, `Your ${product} email is about to change`, [
      `Someone signed in to your ${product} account asked to change its email to ${newEmail}. The change happens only when the link sent there is opened.`,
      'If this was not you, someone has your password: reset it now and sign out everywhere. Until the link is used, this address still signs in.',
    ]),
  emailChanged: (to: string, product: string, newEmail: string) =>
    message(to, `Your ${product} email was changed`, [
      `The email of your ${product} account is now ${newEmail}; this address no longer signs in.`,
      'If this was not you, contact support at once.',
    ]),
  accountDeleted: (to: string, product: string) =>
    message(to, `Your ${product} account was deleted`, [
      `Your ${product} account and its personal data were deleted, and every session was signed out.`,
      'If this was not you, contact support. You can create a new account with this address at any time.',
    ]),
  invitation: (to: string, product: string, url: string, seconds: number) =>
    message(
      to,
      `You are invited to ${product}`,
      [
        `An administrator created a ${product} account for this address.`,
        `Choose a password within ${days(seconds)} days to start using it. If you did not expect this, ignore this message.`,
      ],
      { url, label: 'Choose your password' },
    ),
};
