import base64
import json
import subprocess

def b64(password):
    return base64.b64encode(password.encode()).decode()

pw = subprocess.Popen(["pwtool", "--json", "batch"],
                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                      text=True)

def run(line):
    # One line in, one answer out; the change is on disk when it comes.
    print(line, file=pw.stdin, flush=True)
    answer = json.loads(pw.stdout.readline())
    return answer["code"], answer["message"]

print(run("add --password-base64 " + b64("s3cret") + " alice@example.org"))
print(run("check --password-base64 " + b64("s3cret") + " alice@example.org"))
print(run("add --password-base64 " + b64("other") + " alice@example.org"))
for line in ["begin", "lock alice@example.org",
             "add -m plain --password-base64 " + b64("pw 2") + " bob@example.org",
             "commit"]:
    print(run(line))
pw.stdin.close()
print("exit", pw.wait())
